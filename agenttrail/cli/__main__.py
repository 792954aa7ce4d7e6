from agenttrail.cli import main

main()
