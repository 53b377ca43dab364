"""The API's routers: system, grading, auth, patients (and their record), users."""
