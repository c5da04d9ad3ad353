"""MQTT (issue 21): confirmed alerts, camera states and health events published per commune to a broker, through an
outbox in the database (docs/integrations.md)."""
