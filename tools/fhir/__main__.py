"""``python -m tools.fhir``: rewrite examples/fhir/ from the example JSON inputs."""

from tools.fhir import main

main()
