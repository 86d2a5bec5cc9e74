"""Where counts come from: the Opendatasoft portal, the legacy Socrata API, any URL."""
