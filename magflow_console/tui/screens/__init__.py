"""The screens, one per module; ``base`` holds their base classes. Nothing is listed
here by hand: ``tui.keymap`` finds every screen (and widget) with bindings itself."""
