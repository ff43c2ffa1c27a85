from leadscore.cli import main

raise SystemExit(main())
