"""Channel-neutral handlers: the message model, the router and what each kind of message gets."""
