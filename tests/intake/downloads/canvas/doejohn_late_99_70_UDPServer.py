print("first try")
