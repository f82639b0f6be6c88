"""The `kemala` command: local stack, onboarding, tokens, routing tools, agency inbox, audit."""
