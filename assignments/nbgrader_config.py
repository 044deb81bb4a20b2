"""nbgrader's settings for a course made from this folder.

Run nbgrader in the course folder (a copy of ``assignments/``, or this folder
itself): nbgrader reads this file from the folder it runs in.
"""

c = get_config()  # noqa: F821 (nbgrader defines get_config when it reads this file)

c.CourseDirectory.course_id = "zoo"
# The jupytext halves (source/NN_name/NN_name.py) hold the solutions too: keep
# them out of what nbgrader copies to the students, and out of the
# autograded folders. The checks themselves live in zoo (zoo.classroom), so no
# assignment needs a .py file of its own.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "*.py",
]
# A fresh kernel imports TensorFlow before the first check runs: give a cell
# longer than nbgrader's 30 s default.
c.Execute.timeout = 300
