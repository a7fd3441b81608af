"""Device labels: the grid maths (``layout``), what goes on a label (``content``), the PDF pages
(``pages``) and ZPL for Zebra printers (``zpl``)."""
