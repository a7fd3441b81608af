"""The device link: serial protocol codec, client, port discovery and the device simulator."""
