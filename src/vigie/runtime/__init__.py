"""The composition root: builds settings, engines and workers and wires them. Nothing imports it."""
