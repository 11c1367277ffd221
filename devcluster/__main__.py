"""`python -m devcluster`: start a local cluster (see devcluster.cluster)."""

import sys

from devcluster.cluster import main

sys.exit(main())
