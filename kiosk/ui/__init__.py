"""kiosk ui package."""
