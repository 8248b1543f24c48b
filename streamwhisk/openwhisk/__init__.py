"""OpenWhisk's semantics over HTTP: web actions (a request becomes arguments, a result becomes
an answer), the streamer's framing, the REST API and what is deployed through it, and the
streamer alone in front of a real OpenWhisk."""

# OpenWhisk's own words for what is not there, on every route
NOT_FOUND = "The requested resource does not exist."
