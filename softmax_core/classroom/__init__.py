"""Classroom mode: who is who on a shared server, what each may see and do, and the class board."""
