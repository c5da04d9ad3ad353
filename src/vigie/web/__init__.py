"""The operator console's static assets. Imports nothing: it talks to the API over HTTP."""
