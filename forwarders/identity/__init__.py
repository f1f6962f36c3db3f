"""Identity: which person (an HRIS record) an xAPI actor is.

`person` (the `Person` record and the identifier keys of actors and people), `import_file`
(parsing an HRIS CSV or JSON import), `store` (people in MongoDB, resolving actors) and
`service` (imports, re-driving the events that waited for a person, the admin operations).
"""
