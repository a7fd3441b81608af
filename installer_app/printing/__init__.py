"""Printable pages as plain data (``document``), drawn to PDF by Qt (``launch.render_pdf``)."""
