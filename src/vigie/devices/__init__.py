"""Cameras as devices (issue 19): ONVIF discovery and onboarding, PTZ control, presets and tours, privacy masks in
pan/tilt/zoom space, auto-tracking; later loudspeakers and radars (DESIGN.md: depends on domain and config only)."""
