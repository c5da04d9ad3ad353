"""Scale-out on Ray: camera groups as actors placed on the cluster's nodes by resources, re-placed when a node is
lost, rebalanced when one joins (``docs/cluster.md``)."""
