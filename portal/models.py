# The project's own tables moved to the kernel app (kernel/models.py); portal keeps its migrations' history.
