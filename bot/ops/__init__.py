"""Running the bot as a service: health, status files, leader election, the builder role."""
