from magflow_console.cli import main

raise SystemExit(main())
