"""The xAPI domain: validation, preparation, comparison and query planning. Pure: no I/O."""
