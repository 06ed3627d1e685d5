import sys

from labelrepro.cli import main

sys.exit(main())
