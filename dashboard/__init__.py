"""The Streamlit dashboard: pages, controls, the cached compute layer and the figures.

Data flows one way: widget -> config dataclass -> compute (cached) -> core -> NumPy result
-> plots -> page.
"""
