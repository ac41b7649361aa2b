"""What runs inside every worker around a method's core: the step policy and the shells of the job kinds.

Workers (N2N, N2V, metrics) use it; the gateway never does (it only sends tasks by name, shared/queue/).
"""
