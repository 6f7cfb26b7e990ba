"""Sync with the province's central platform over MQTT: contract, link, outbox, inbox, reference collector."""
# Threads (one doorway each, STYLE 4):
#   sync-link     our reconnect loop; makes a fresh paho client per connection (paho's own queue dies with it)
#   paho's thread network I/O and callbacks; callbacks only append to a deque/queue and set an Event
#   sync-outbox   reads the event log after the acked seq, publishes, counts PUBACKs, stores the acked seq
#   sync-inbox    validates central messages and applies them through Hall commands (or dead-letters them)
#   central-writer / central-repair   the reference collector's batch writer and gap repair
