"""Pure chain helpers: SS58 addresses and AI3 amounts (no I/O, no substrate-interface)."""
