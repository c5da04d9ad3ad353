"""Loudspeaker drivers (issue 21): simulated (records what it was asked), HTTP (stored clips, Axis VAPIX style) and
SIP (a call from baresip sending the message's audio). Only :mod:`vigie.services.speakers` drives them."""
