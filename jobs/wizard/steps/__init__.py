"""The wizard's edit steps, one module each (pure Python, no Django): `initial(state, ...)` gives
the values that prefill the step's form from the run's spec dict, and `apply(state, values, ...)`
turns the form's values into the spec dict and validates it with the spec layer, returning the
new run and its problems (jobs.wizard.flow.Problem). Every step also has `FIELDS`."""
