"""SEN2 person-level return readers (XML and flat export), validation and loading."""
