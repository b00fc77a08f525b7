"""Local infrastructure for hdm: MariaDB bootstrap, osTicket data generator, API emulators."""
