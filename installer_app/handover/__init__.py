"""The site handover package: the rows (``rows``), CSV and XLSX tables (``tables``), the PDF
report (``report``) and the three files together (``package``)."""
