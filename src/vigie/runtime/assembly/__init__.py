"""Building services from configuration, one builder per service: the composition root of
`vigie serve` and `vigie demo`."""
