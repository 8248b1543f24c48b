"""The OpenWhisk action loop: the contract between the server and a worker process, and the
worker side of it. Standard library only: it runs inside the action's own interpreter."""
