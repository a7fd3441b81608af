"""The dashboard's pages, one router per concern; dashboard/routes.py includes them in order."""
