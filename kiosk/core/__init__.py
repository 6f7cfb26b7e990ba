"""kiosk core package."""
