from magflow_console.main import main

raise SystemExit(main())
