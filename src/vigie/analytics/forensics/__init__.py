"""Forensic search of recorded footage (issue 22): analyses run on demand over recorded segments, within the scope of
a case (the case, its authorisation check and its audit live in ``services``; this package only reads files it is
given and returns results)."""
