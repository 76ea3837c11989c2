"""Analytics: what customers did on their journeys, counted from the database."""
