"""Worker processes and their messages: supervisor, recorder and analysis groups, and the sink
that writes what they report."""
