"""Read models that gather what several packages wrote: what a pledge's money did."""
