"""LED boards (Onbon BX-5K/6K): window boards and the hall board; `from_config` builds a driver from hall TOML."""
