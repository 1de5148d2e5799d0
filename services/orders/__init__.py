"""Orders: the cart, pricing and promotions, checkout, the placement steps of the order
chain (``placement``) and what happens to an order afterwards (``lifecycle``). The API calls
``cart``, ``checkout``, ``pricing``, ``promotions`` and ``lifecycle``; tasks call
``placement`` and ``lifecycle``."""
