"""Static and build checks for packaging/: systemd units, the kiosk session and the .deb."""
