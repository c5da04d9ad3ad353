"""Radars and other sensors publishing over MQTT (issue 21): their payloads, the link rules, the statistics kept,
the subscriber of ``vigie serve`` and a simulated radar for the demo."""
