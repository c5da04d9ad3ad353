"""Event modules ("abnormal event" detectors and statistics), one file each; see ``registry.MODULES``."""
