"""The citizen's phone pages (ticket status, 扫码取号, appointments), served by `hall run server` on the hall's own
network; no Qt, no devices: the web talks to the Hall like any other client."""
