"""Each lesson's exercise checks, hints and quiz: ``lessonNN.py`` for lesson NN."""
